"""RFC 3161 timestamping: anchors for signed audit exports (HASP's: hasp.audit_format).

`audit_format.export(timestamp=...)` needs an RFC 3161 `TimeStampResp` over the ASCII bytes of the
export's chain head hash; HASP's verifier (github.com/UseHasp/verify, `src/checks/tsa.js`)
rejects an export without one and checks it with
`openssl ts -verify -in <tsr> -CAfile <tsa_cacert_url body> -data <anchored_data>`.

Timestampers (`make_timestamper()`):

- `offline` (the default): agentyard's own local TSA. It is NOT a public, independent TSA: the
  token proves that this installation's key signed the chain head at its own clock's time, so it
  protects against later tampering by anyone without the database, not against the operator.
  On first use it creates a self-signed root CA ("agentyard offline TSA root CA <id>") and a TSA
  signing certificate issued by it (EKU `timeStamping`, critical), both ECDSA P-256 with
  SHA-256 (accepted by `openssl ts -verify` in OpenSSL 1.1 and 3.x; Ed25519 is not, since
  `openssl ts` verifies through the PKCS#7 API). They are stored in `core_tsa_authority`, one
  row per authority name, so every worker and restart signs with the same keys; creation is
  insert-if-missing then read back, so racing processes agree. The private keys are PKCS#8 PEM,
  encrypted with `AGENTYARD_TSA_KEY_PASSPHRASE` (or else `AGENTYARD_AUDIT_KEY_PASSPHRASE`) when
  set at creation. Tokens carry the policy `OFFLINE_POLICY_OID` (under the UUID arc 2.25,
  ITU-T X.667, so no registration is involved), a random 127-bit serial number, genTime with
  milliseconds, the TSA name, and the signed attributes contentType, messageDigest and
  signingCertificateV2 (ESSCertIDv2, SHA-256). `OfflineTimestamper.respond()` answers a DER
  `TimeStampReq`, so the server can also expose it as an RFC 3161 endpoint.
- `http`: an RFC 3161 client (e.g. FreeTSA) that POSTs `application/timestamp-query` and checks
  the reply's status, nonce, message imprint and signature (and, given the TSA's CA, the chain).

Anchor URLs: the verifier's schema requires https `tsa_url` and `tsa_cacert_url`, and it fetches
`tsa_cacert_url` unless given `--ca-file`; serve `OfflineTimestamper.ca_certificate_pem()` there.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import secrets
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import peewee
import requests
from asn1crypto import algos, cms, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from agentyard.config import Settings
from agentyard.core import clock, keys_at_rest
from agentyard.core.migrations import Migration, create_tables, register
from agentyard.core.store import BaseModel, connection, write

# 2.25.<UUID as integer> (ITU-T X.667): agentyard offline TSA policy, version 1.
OFFLINE_POLICY_OID = "2.25.82651842332023251142835376318319966298"
PASSPHRASE_ENV = "AGENTYARD_TSA_KEY_PASSPHRASE"
AUDIT_PASSPHRASE_ENV = "AGENTYARD_AUDIT_KEY_PASSPHRASE"
KIND_ENV = "AGENTYARD_TSA"
URL_ENV = "AGENTYARD_TSA_URL"
CACERT_URL_ENV = "AGENTYARD_TSA_CACERT_URL"
CA_FILE_ENV = "AGENTYARD_TSA_CA_FILE"
TIMEOUT_ENV = "AGENTYARD_TSA_TIMEOUT"
DEFAULT_TIMEOUT = 10.0
MAX_RESPONSE_BYTES = 1024 * 1024
CA_YEARS = 30
TSA_YEARS = 25

_DIGESTS = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}
_CRYPTO_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
_HEX64 = re.compile(r"[0-9a-f]{64}")


class TimeStampResp(tsp.TimeStampResp):
    """RFC 3161 TimeStampResp; asn1crypto 1.5.1 forgets that `timeStampToken` is OPTIONAL."""

    _fields = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


class TimestampError(RuntimeError):
    """A timestamp could not be obtained or does not verify."""


@dataclass(frozen=True)
class TimestampToken:
    """A granted RFC 3161 response: `response_der` is the whole DER `TimeStampResp`."""

    response_der: bytes = field(repr=False)
    gen_time: dt.datetime  # naive UTC
    serial_number: int
    policy: str
    hash_algorithm: str
    message_imprint: bytes
    nonce: int | None = None

    @property
    def response_base64(self) -> str:
        """The response as standard base64 (the export's `tsa_tsr_base64`)."""
        return base64.b64encode(self.response_der).decode("ascii")

    def matches(self, data: bytes) -> bool:
        """Whether the token's message imprint is the hash of `data`."""
        return _DIGESTS[self.hash_algorithm](data).digest() == self.message_imprint


# --- storage --------------------------------------------------------------------------------


class TsaAuthority(BaseModel):
    """An offline TSA: its root CA and signing certificate with their keys (PEM)."""

    name = peewee.CharField(primary_key=True, max_length=64)
    algo = peewee.CharField(max_length=32)
    policy_oid = peewee.CharField(max_length=128)
    ca_cert_pem = peewee.TextField()
    ca_key_pem = peewee.TextField()
    tsa_cert_pem = peewee.TextField()
    tsa_key_pem = peewee.TextField()
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "core_tsa_authority"


register(
    "timestamping",
    [Migration(1, "offline RFC 3161 TSA certificates and keys", create_tables(TsaAuthority))],
)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return keys_at_rest.dump(key, [PASSPHRASE_ENV, AUDIT_PASSPHRASE_ENV])


def _cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _new_authority_row(name: str) -> dict[str, Any]:
    """Fresh CA and TSA certificates and keys for authority `name` (not yet stored)."""
    tag = secrets.token_hex(4)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    start = now - dt.timedelta(minutes=5)
    org = x509.NameAttribute(NameOID.ORGANIZATION_NAME, "agentyard (self-hosted, not a public TSA)")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name(
        [org, x509.NameAttribute(NameOID.COMMON_NAME, f"agentyard offline TSA root CA {tag}")]
    )
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(now + dt.timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    tsa_key = ec.generate_private_key(ec.SECP256R1())
    tsa_name = x509.Name(
        [org, x509.NameAttribute(NameOID.COMMON_NAME, f"agentyard offline TSA {tag}")]
    )
    tsa_cert = (
        x509.CertificateBuilder()
        .subject_name(tsa_name)
        .issuer_name(ca_name)
        .public_key(tsa_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(now + dt.timedelta(days=365 * TSA_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(tsa_key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return {
        "name": name,
        "algo": "ecdsa-p256-sha256",
        "policy_oid": OFFLINE_POLICY_OID,
        "ca_cert_pem": _cert_pem(ca_cert),
        "ca_key_pem": _key_pem(ca_key),
        "tsa_cert_pem": _cert_pem(tsa_cert),
        "tsa_key_pem": _key_pem(tsa_key),
        "created_at": clock.now(),
    }


def authority(name: str = "offline") -> TsaAuthority:
    """The stored offline TSA `name`, created on first use (race-safe across processes)."""
    with connection():
        row = TsaAuthority.get_or_none(TsaAuthority.name == name)
        if row is not None:
            return row
        candidate = _new_authority_row(name)
        with write():
            TsaAuthority.insert(**candidate).on_conflict_ignore().execute()
        return TsaAuthority.get_by_id(name)


@dataclass(frozen=True)
class _Signer:
    key: ec.EllipticCurvePrivateKey
    cert: asn1_x509.Certificate
    ca_cert: asn1_x509.Certificate
    policy: str


_signers: dict[str, tuple[str, _Signer]] = {}


def _signer(row: TsaAuthority) -> _Signer:
    cached = _signers.get(row.name)
    fingerprint = row.tsa_key_pem + row.tsa_cert_pem + row.ca_cert_pem
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    try:
        key = keys_at_rest.load(row.tsa_key_pem, [PASSPHRASE_ENV, AUDIT_PASSPHRASE_ENV])
    except (ValueError, TypeError) as exc:
        raise TimestampError(f"cannot load TSA key {row.name!r}: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TimestampError(f"TSA key {row.name!r} is not an ECDSA key")
    signer = _Signer(
        key=key,
        cert=_asn1_cert(row.tsa_cert_pem),
        ca_cert=_asn1_cert(row.ca_cert_pem),
        policy=row.policy_oid,
    )
    _signers[row.name] = (fingerprint, signer)
    return signer


def _asn1_cert(pem: str) -> asn1_x509.Certificate:
    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)
    return asn1_x509.Certificate.load(der)


# --- issuing --------------------------------------------------------------------------------


def _serial() -> int:
    return (int.from_bytes(secrets.token_bytes(16), "big") >> 1) or 1


def _attr(kind: str, value: Any) -> cms.CMSAttribute:
    return cms.CMSAttribute({"type": kind, "values": [value]})


def _issue(
    signer: _Signer,
    hash_algorithm: str,
    imprint: bytes,
    *,
    nonce: int | None = None,
    include_certs: bool = True,
) -> bytes:
    """A granted DER `TimeStampResp` over `imprint` (already hashed with `hash_algorithm`)."""
    gen_time = clock.now().replace(tzinfo=dt.UTC)
    tst: dict[str, Any] = {
        "version": "v1",
        "policy": signer.policy,
        "message_imprint": {
            "hash_algorithm": {"algorithm": hash_algorithm},
            "hashed_message": imprint,
        },
        "serial_number": _serial(),
        "gen_time": gen_time,
        "tsa": asn1_x509.GeneralName({"directory_name": signer.cert.subject}),
    }
    if nonce is not None:
        tst["nonce"] = nonce
    tst_info = tsp.TSTInfo(tst)
    encap = cms.EncapsulatedContentInfo({"content_type": "tst_info", "content": tst_info})
    ess = tsp.ESSCertIDv2(
        {
            "cert_hash": hashlib.sha256(signer.cert.dump()).digest(),
            "issuer_serial": {
                "issuer": [asn1_x509.GeneralName({"directory_name": signer.cert.issuer})],
                "serial_number": signer.cert.serial_number,
            },
        }
    )
    attrs = [
        _attr("content_type", "tst_info"),
        _attr("message_digest", hashlib.sha256(tst_info.dump()).digest()),
        _attr("signing_certificate_v2", tsp.SigningCertificateV2({"certs": [ess]})),
    ]
    # DER orders a SET OF by encoding; OpenSSL re-encodes before verifying, so sort here.
    signed_attrs = cms.CMSAttributes(sorted(attrs, key=lambda a: a.dump()))
    signature = signer.key.sign(signed_attrs.dump(), ec.ECDSA(hashes.SHA256()))
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                {
                    "issuer_and_serial_number": {
                        "issuer": signer.cert.issuer,
                        "serial_number": signer.cert.serial_number,
                    }
                }
            ),
            "digest_algorithm": {"algorithm": "sha256"},
            "signed_attrs": signed_attrs,
            "signature_algorithm": {"algorithm": "sha256_ecdsa"},
            "signature": signature,
        }
    )
    signed: dict[str, Any] = {
        "version": "v3",
        "digest_algorithms": [{"algorithm": "sha256"}],
        "encap_content_info": encap,
        "signer_infos": [signer_info],
    }
    if include_certs:
        signed["certificates"] = [signer.cert, signer.ca_cert]
    token = cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData(signed)})
    return TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token}).dump()


def _rejection(fail_info: str, text: str) -> bytes:
    return TimeStampResp(
        {
            "status": {
                "status": "rejection",
                "status_string": [text],
                "fail_info": tsp.PKIFailureInfo({fail_info}),
            }
        }
    ).dump()


# --- verifying ------------------------------------------------------------------------------


def _load_ca(ca_pem: str | bytes) -> list[x509.Certificate]:
    data = ca_pem.encode() if isinstance(ca_pem, str) else ca_pem
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise TimestampError(f"invalid TSA CA certificate PEM: {exc}") from exc


def _verify_signature(
    public: Any, signature: bytes, data: bytes, sig_algo: str, hash_name: str
) -> None:
    algorithm = _CRYPTO_HASHES[hash_name]()
    try:
        if isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(signature, data, ec.ECDSA(algorithm))
        elif isinstance(public, rsa.RSAPublicKey):
            pad = (
                padding.PSS(padding.MGF1(algorithm), padding.PSS.AUTO)
                if sig_algo == "rsassa_pss"
                else padding.PKCS1v15()
            )
            public.verify(signature, data, pad, algorithm)
        elif isinstance(public, ed25519.Ed25519PublicKey):
            public.verify(signature, data)
        else:
            raise TimestampError(f"unsupported TSA key type {type(public).__name__}")
    except InvalidSignature as exc:
        raise TimestampError("the timestamp token's signature does not verify") from exc


def _signed_attr(signer_info: cms.SignerInfo, kind: str) -> Any:
    for attr in signer_info["signed_attrs"]:
        if attr["type"].native == kind:
            return attr["values"][0]
    return None


def verify_response(
    response_der: bytes,
    data: bytes,
    *,
    ca_pem: str | bytes | None = None,
    nonce: int | None = None,
) -> TimestampToken:
    """Check a DER `TimeStampResp` for `data` and return its token; raise `TimestampError`.

    Checks: status granted, TSTInfo content, message imprint of `data`, nonce (when given),
    messageDigest and signature of the signed attributes under the signer certificate in the
    token, ESSCertID(v2) binding of that certificate, its critical `timeStamping` EKU and, when
    `ca_pem` is given, that a CA certificate in it directly issued the signer certificate.
    """
    try:
        response = TimeStampResp.load(response_der)
        status = response["status"]["status"].native
        if status not in ("granted", "granted_with_mods"):
            text = response["status"]["status_string"].native or []
            info = response["status"]["fail_info"].native or set()
            raise TimestampError(
                f"TSA answered {status}: {'; '.join(text) or 'no reason given'}"
                + (f" ({', '.join(sorted(info))})" if info else "")
            )
        token = response["time_stamp_token"]
        if token.native is None or token["content_type"].native != "signed_data":
            raise TimestampError("the TSA response carries no SignedData timestamp token")
        signed = token["content"]
        encap = signed["encap_content_info"]
        if encap["content_type"].native != "tst_info":
            raise TimestampError("the timestamp token does not encapsulate a TSTInfo")
        tst_der = encap["content"].contents
        tst_info = tsp.TSTInfo.load(tst_der)
        imprint = tst_info["message_imprint"]
        hash_name = imprint["hash_algorithm"]["algorithm"].native
        if hash_name not in _DIGESTS:
            raise TimestampError(f"unsupported message imprint hash {hash_name}")
        hashed = imprint["hashed_message"].native
        if hashed != _DIGESTS[hash_name](data).digest():
            raise TimestampError("the timestamp's message imprint does not match the data")
        token_nonce = tst_info["nonce"].native
        if nonce is not None and token_nonce != nonce:
            raise TimestampError("the timestamp's nonce does not match the request")
        if len(signed["signer_infos"]) != 1:
            raise TimestampError("the timestamp token must have exactly one signer")
        signer_info = signed["signer_infos"][0]
        if signer_info["signed_attrs"].native is None:
            raise TimestampError("the timestamp token has no signed attributes")
        digest_name = signer_info["digest_algorithm"]["algorithm"].native
        if digest_name not in _DIGESTS:
            raise TimestampError(f"unsupported signer digest {digest_name}")
        content_type = _signed_attr(signer_info, "content_type")
        if content_type is None or content_type.native != "tst_info":
            raise TimestampError("the signed contentType is not id-ct-TSTInfo")
        digest = _signed_attr(signer_info, "message_digest")
        if digest is None or digest.native != _DIGESTS[digest_name](tst_der).digest():
            raise TimestampError("the signed messageDigest does not match the TSTInfo")
        cert = _signer_cert(signed, signer_info)
        _check_ess(signer_info, cert)
        crypto_cert = x509.load_der_x509_certificate(cert.dump())
        signed_attrs = signer_info["signed_attrs"].untag().dump(force=True)
        _verify_signature(
            crypto_cert.public_key(),
            signer_info["signature"].native,
            signed_attrs,
            signer_info["signature_algorithm"]["algorithm"].native,
            digest_name,
        )
        gen_time = tst_info["gen_time"].native
    except (ValueError, KeyError, TypeError) as exc:
        raise TimestampError(f"malformed timestamp response: {exc}") from exc
    _check_tsa_cert(crypto_cert, ca_pem)
    return TimestampToken(
        response_der=response_der,
        gen_time=clock.to_naive(gen_time),
        serial_number=tst_info["serial_number"].native,
        policy=tst_info["policy"].dotted,
        hash_algorithm=hash_name,
        message_imprint=hashed,
        nonce=token_nonce,
    )


def _signer_cert(signed: cms.SignedData, signer_info: cms.SignerInfo) -> asn1_x509.Certificate:
    sid = signer_info["sid"]
    for choice in signed["certificates"] or []:
        if choice.name != "certificate":
            continue
        cert = choice.chosen
        if sid.name == "issuer_and_serial_number":
            if (
                cert.issuer == sid.chosen["issuer"]
                and cert.serial_number == sid.chosen["serial_number"].native
            ):
                return cert
        elif cert.key_identifier == sid.chosen.native:
            return cert
    raise TimestampError("the timestamp token does not include its signer's certificate")


def _check_ess(signer_info: cms.SignerInfo, cert: asn1_x509.Certificate) -> None:
    v2 = _signed_attr(signer_info, "signing_certificate_v2")
    if v2 is not None:
        first = v2["certs"][0]
        name = first["hash_algorithm"]["algorithm"].native
        if name not in _DIGESTS:
            raise TimestampError(f"unsupported ESSCertIDv2 hash {name}")
        expected = _DIGESTS[name](cert.dump()).digest()
    else:
        v1 = _signed_attr(signer_info, "signing_certificate")
        if v1 is None:
            raise TimestampError("the timestamp token lacks signingCertificate(V2)")
        first = v1["certs"][0]
        expected = hashlib.sha1(cert.dump()).digest()  # ESSCertID (v1) is SHA-1
    if first["cert_hash"].native != expected:
        raise TimestampError("the signing certificate does not match the ESSCertID")


def _check_tsa_cert(cert: x509.Certificate, ca_pem: str | bytes | None) -> None:
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound as exc:
        raise TimestampError("the TSA certificate has no extended key usage") from exc
    if not eku.critical or list(eku.value) != [ExtendedKeyUsageOID.TIME_STAMPING]:
        raise TimestampError("the TSA certificate's EKU is not a critical timeStamping")
    if ca_pem is None:
        return
    for ca in _load_ca(ca_pem):
        if ca.subject != cert.issuer:
            continue
        try:
            cert.verify_directly_issued_by(ca)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return
    raise TimestampError("the TSA certificate was not issued by the given CA")


# --- timestampers ---------------------------------------------------------------------------


def _https(name: str, url: str | None) -> str:
    if not url or not url.startswith("https://"):
        raise TimestampError(f"{name} must be an https URL (HASP's verifier requires it)")
    return url


class Timestamper(ABC):
    """An RFC 3161 time-stamping authority."""

    kind: str = ""
    tsa_url: str | None = None
    cacert_url: str | None = None

    @abstractmethod
    def stamp(self, data: bytes) -> TimestampToken:
        """A granted timestamp token over SHA-256(`data`)."""

    @abstractmethod
    def ca_certificate_pem(self) -> str:
        """The PEM of the CA that verifiers use (`openssl ts -verify -CAfile`)."""

    def anchor(
        self,
        chain_head_hash: str,
        *,
        cacert_url: str | None = None,
        tsa_url: str | None = None,
    ) -> dict[str, Any]:
        """An audit-export `tsa_anchor_chain` item over the ASCII bytes of `chain_head_hash`.

        Returns `tsa_url`, `tsa_cacert_url`, `tsa_tsr_base64`, `anchored_data` and
        `anchored_at` (`audit_format.export` adds `checkpoint_after_entry`). Use it as
        `audit_format.export(..., timestamp=functools.partial(ts.anchor, cacert_url=...))`.
        """
        if not isinstance(chain_head_hash, str) or not _HEX64.fullmatch(chain_head_hash):
            raise TimestampError("chain_head_hash must be 64 lowercase hex characters")
        cacert = _https("tsa_cacert_url", cacert_url or self.cacert_url)
        tsa = _https("tsa_url", tsa_url or self.tsa_url or cacert)
        token = self.stamp(chain_head_hash.encode("ascii"))
        return {
            "tsa_url": tsa,
            "tsa_cacert_url": cacert,
            "tsa_tsr_base64": token.response_base64,
            "anchored_data": chain_head_hash,
            "anchored_at": clock.iso(token.gen_time),
        }


class OfflineTimestamper(Timestamper):
    """agentyard's own local TSA, with keys from `core_tsa_authority` row `name`.

    It has no URL of its own: `anchor()` needs `cacert_url` (where the server serves
    `ca_certificate_pem()`) and uses it as `tsa_url` too unless one is given.
    """

    kind = "offline"

    def __init__(
        self, name: str = "offline", *, cacert_url: str | None = None, tsa_url: str | None = None
    ) -> None:
        self.name = name
        self.cacert_url = cacert_url
        self.tsa_url = tsa_url

    def _signer(self) -> _Signer:
        return _signer(authority(self.name))

    @property
    def policy(self) -> str:
        """The policy OID this TSA stamps with."""
        return authority(self.name).policy_oid

    def stamp(self, data: bytes) -> TimestampToken:
        """A granted token over SHA-256(`data`), certificates included."""
        response = _issue(self._signer(), "sha256", hashlib.sha256(data).digest())
        return verify_response(response, data)

    def ca_certificate_pem(self) -> str:
        """The offline TSA's root CA certificate (PEM), created on first use; no key needed."""
        return authority(self.name).ca_cert_pem

    def respond(self, request_der: bytes) -> bytes:
        """The DER `TimeStampResp` for a DER `TimeStampReq` (rejections included)."""
        try:
            request = tsp.TimeStampReq.load(request_der)
            version = request["version"].native
            imprint = request["message_imprint"]
            hash_name = imprint["hash_algorithm"]["algorithm"].native
            hashed = imprint["hashed_message"].native
            policy = request["req_policy"].dotted if request["req_policy"].native else None
            nonce = request["nonce"].native
            cert_req = bool(request["cert_req"].native)
            extensions = request["extensions"].native
        except (ValueError, KeyError, TypeError):
            return _rejection("bad_data_format", "malformed TimeStampReq")
        if version != "v1":
            return _rejection("bad_request", "unsupported TimeStampReq version")
        if hash_name not in _DIGESTS or len(hashed) != _DIGESTS[hash_name]().digest_size:
            return _rejection("bad_alg", "message imprint must be SHA-256, SHA-384 or SHA-512")
        if extensions:
            return _rejection("unaccepted_extension", "extensions are not supported")
        signer = self._signer()
        if policy is not None and policy != signer.policy:
            return _rejection("unaccepted_policy", f"policy must be {signer.policy}")
        return _issue(signer, hash_name, hashed, nonce=nonce, include_certs=cert_req)


def make_request(data: bytes, *, nonce: int | None = None, policy: str | None = None) -> bytes:
    """A DER `TimeStampReq` for SHA-256(`data`) asking for the TSA's certificate."""
    request: dict[str, Any] = {
        "version": "v1",
        "message_imprint": {
            "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
            "hashed_message": hashlib.sha256(data).digest(),
        },
        "cert_req": True,
    }
    if policy is not None:
        request["req_policy"] = policy
    if nonce is not None:
        request["nonce"] = nonce
    return tsp.TimeStampReq(request).dump()


class HttpTimestamper(Timestamper):
    """An RFC 3161 client for a TSA at `url` (HTTP POST of `application/timestamp-query`).

    `ca_pem` (the TSA's CA certificate) makes `stamp()` check the chain and is what
    `ca_certificate_pem()` returns; `cacert_url` is where verifiers fetch it.
    """

    kind = "http"

    def __init__(
        self,
        url: str,
        *,
        cacert_url: str | None = None,
        ca_pem: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        policy: str | None = None,
        session: requests.Session | None = None,
    ) -> None:
        if not url.startswith(("https://", "http://")):
            raise TimestampError("the TSA URL must be http(s)")
        self.tsa_url: str = url
        self.cacert_url = cacert_url
        self.ca_pem = ca_pem
        self.timeout = timeout
        self.policy = policy
        self.session = session or requests.Session()
        if ca_pem is not None:
            _load_ca(ca_pem)

    def stamp(self, data: bytes) -> TimestampToken:
        """POST a request for SHA-256(`data`) and return the checked token."""
        nonce = secrets.randbits(64)
        body = make_request(data, nonce=nonce, policy=self.policy)
        try:
            with self.session.post(
                self.tsa_url,
                data=body,
                headers={
                    "Content-Type": "application/timestamp-query",
                    "Accept": "application/timestamp-reply",
                },
                timeout=self.timeout,
                stream=True,
                allow_redirects=False,
            ) as reply:
                if reply.status_code != 200:
                    raise TimestampError(f"TSA {self.tsa_url} answered HTTP {reply.status_code}")
                content = reply.raw.read(MAX_RESPONSE_BYTES + 1, decode_content=True)
        except requests.RequestException as exc:
            raise TimestampError(f"TSA {self.tsa_url} request failed: {exc}") from exc
        if len(content) > MAX_RESPONSE_BYTES:
            raise TimestampError(f"TSA {self.tsa_url} response exceeds {MAX_RESPONSE_BYTES} bytes")
        token = verify_response(content, data, ca_pem=self.ca_pem, nonce=nonce)
        if self.policy is not None and token.policy != self.policy:
            raise TimestampError(f"TSA used policy {token.policy}, not {self.policy}")
        return token

    def ca_certificate_pem(self) -> str:
        """The configured CA PEM of the remote TSA."""
        if self.ca_pem is None:
            raise TimestampError("no CA certificate configured for the http TSA")
        return self.ca_pem


def make_timestamper(
    kind: str = "offline",
    url: str | None = None,
    *,
    cacert_url: str | None = None,
    ca_pem: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    name: str = "offline",
) -> Timestamper:
    """A timestamper: `offline` (agentyard's local TSA `name`) or `http` (RFC 3161 at `url`)."""
    if kind == "offline":
        return OfflineTimestamper(name, cacert_url=cacert_url, tsa_url=url)
    if kind == "http":
        if not url:
            raise TimestampError("the http timestamper needs a TSA URL")
        return HttpTimestamper(url, cacert_url=cacert_url, ca_pem=ca_pem, timeout=timeout)
    raise TimestampError(f"unknown timestamper {kind!r} (offline or http)")


def timestamper_from_env(environ: Mapping[str, str] | None = None) -> Timestamper:
    """`make_timestamper()` from AGENTYARD_TSA, _URL, _CACERT_URL, _CA_FILE and _TIMEOUT."""
    return timestamper_from_settings(Settings.from_env(environ))


def timestamper_from_settings(settings: Settings) -> Timestamper:
    """`make_timestamper()` from the `tsa*` settings (the CA file is read now)."""
    ca_pem = None
    if settings.tsa_ca_file:
        with open(settings.tsa_ca_file, encoding="ascii") as handle:
            ca_pem = handle.read()
    return make_timestamper(
        settings.tsa,
        settings.tsa_url,
        cacert_url=settings.tsa_cacert_url,
        ca_pem=ca_pem,
        timeout=settings.tsa_timeout_seconds,
    )
