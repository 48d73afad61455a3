"""Recognizers for Safe Harbor category B: street addresses, ZIP codes, cities and counties.

A state or a country alone is not PHI under Safe Harbor; `STATE_AND_COUNTRY_NAMES` lets the
guard drop NER locations that are only that.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer

from agentyard.phi.recognizers._common import words
from agentyard.phi.recognizers.names import NOT_NAMES

if TYPE_CHECKING:
    from presidio_analyzer.nlp_engine import NlpArtifacts

STATE_ABBREVIATIONS = words(
    """
    AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT
    NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR VI GU
    """
)

STATE_NAMES = [
    "Alabama", "Alaska", "Arizona", "Arkansas", "California", "Colorado", "Connecticut",
    "Delaware", "Florida", "Georgia", "Hawaii", "Idaho", "Illinois", "Indiana", "Iowa",
    "Kansas", "Kentucky", "Louisiana", "Maine", "Maryland", "Massachusetts", "Michigan",
    "Minnesota", "Mississippi", "Missouri", "Montana", "Nebraska", "Nevada", "New Hampshire",
    "New Jersey", "New Mexico", "New York", "North Carolina", "North Dakota", "Ohio",
    "Oklahoma", "Oregon", "Pennsylvania", "Rhode Island", "South Carolina", "South Dakota",
    "Tennessee", "Texas", "Utah", "Vermont", "Virginia", "Washington", "West Virginia",
    "Wisconsin", "Wyoming", "District of Columbia", "Puerto Rico", "Guam",
]  # fmt: skip

_COUNTRIES = [
    "US", "U.S.", "USA", "U.S.A.", "America", "United States", "United States of America",
    "Canada", "Mexico", "UK", "U.K.", "United Kingdom", "England", "Scotland", "Wales",
    "Ireland", "France", "Germany", "Italy", "Spain", "Portugal", "Poland", "Russia",
    "Ukraine", "China", "Japan", "Korea", "India", "Pakistan", "Philippines", "Vietnam",
    "Nigeria", "Ghana", "Kenya", "Ethiopia", "Egypt", "Brazil", "Colombia", "Peru",
    "Venezuela", "Cuba", "Haiti", "Jamaica", "Guatemala", "Honduras", "El Salvador",
    "Dominican Republic", "Australia", "Israel", "Iran", "Iraq", "Syria", "Afghanistan",
    "Turkey", "Greece", "Europe", "Africa", "Asia", "Latin America", "South America",
    "Central America", "Middle East", "the United States",
    "Albania", "Algeria", "Angola", "Argentina", "Armenia", "Austria", "Azerbaijan",
    "Bangladesh", "Belarus", "Belgium", "Benin", "Bolivia", "Bosnia", "Botswana", "Bulgaria",
    "Burkina Faso", "Burma", "Burundi", "Cambodia", "Cameroon", "Chad", "Chile", "Congo",
    "Costa Rica", "Croatia", "Czech Republic", "Czechia", "Denmark", "Ecuador", "Eritrea",
    "Estonia", "Fiji", "Finland", "Gambia", "Georgia", "Guinea", "Guyana", "Hungary",
    "Iceland", "Indonesia", "Ivory Coast", "Jordan", "Kazakhstan", "Kosovo", "Kuwait",
    "Laos", "Latvia", "Lebanon", "Liberia", "Libya", "Lithuania", "Macedonia", "Madagascar",
    "Malawi", "Malaysia", "Mali", "Mauritania", "Moldova", "Mongolia", "Montenegro",
    "Morocco", "Mozambique", "Myanmar", "Namibia", "Nepal", "Netherlands", "Holland",
    "New Zealand", "Nicaragua", "Niger", "North Korea", "South Korea", "Norway", "Oman",
    "Palestine", "Panama", "Paraguay", "Qatar", "Romania", "Rwanda", "Samoa", "Saudi Arabia",
    "Senegal", "Serbia", "Sierra Leone", "Singapore", "Slovakia", "Slovenia", "Somalia",
    "South Africa", "South Sudan", "Sri Lanka", "Sudan", "Sweden", "Switzerland", "Taiwan",
    "Tajikistan", "Tanzania", "Thailand", "Togo", "Tonga", "Trinidad", "Tunisia",
    "Turkmenistan", "Uganda", "United Arab Emirates", "UAE", "Uruguay", "Uzbekistan",
    "Yemen", "Zambia", "Zimbabwe", "Bhutan", "Tibet", "Micronesia", "Marshall Islands",
]  # fmt: skip

STATE_AND_COUNTRY_NAMES = frozenset(
    n.lower() for n in [*STATE_ABBREVIATIONS, *STATE_NAMES, *_COUNTRIES]
)

_STATE_ABBR = "(?-i:" + "|".join(STATE_ABBREVIATIONS) + ")"
_AMBIGUOUS_ABBREVIATIONS = {"MD", "PA", "ME", "OR", "IN", "OK", "HI", "ID", "DE", "CO", "LA"}
_UNAMBIGUOUS_STATE_ABBR = (
    "(?-i:" + "|".join(a for a in STATE_ABBREVIATIONS if a not in _AMBIGUOUS_ABBREVIATIONS) + ")"
)
_STATE_NAME = "(?:" + "|".join(re.escape(n) for n in STATE_NAMES) + ")"

_STREET_SUFFIX = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|"
    r"Terrace|Ter|Parkway|Pkwy|Highway|Hwy|Circle|Cir|Trail|Trl|Square|Sq|Loop|Alley|Plaza|"
    r"Crescent|Pike|Path|Row|Walk|Heights|Bend|Bluff|Commons|Cove|Creek|Crossing|Estates|"
    r"Expressway|Freeway|Gardens|Glen|Green|Grove|Harbor|Hill|Hills|Hollow|Junction|Knoll|"
    r"Landing|Meadows?|Mews|Orchard|Oval|Pass|Point|Pointe|Ridge|Run|Spur|Summit|Trace|"
    r"Turnpike|Valley|View|Village|Vista)"
)
_DIRECTION = r"(?:[NSEW]\.?|North|South|East|West|NE|NW|SE|SW)"
_NAME_WORD = r"(?:[A-Z][a-z]+|[0-9]+(?:st|nd|rd|th))"
_ROUTE = r"(?:Route|Rte\.?|Highway|Hwy\.?|County\s+Road|State\s+Route|US)\s+[0-9]+[A-Z]?"
_UNIT = (
    r"(?:,?\s+(?:Apt|Apartment|Unit|Suite|Ste|Fl|Floor|Rm|Room|Bldg)\.?\s*\#?\s*[A-Z0-9\-]+"
    r"|,?\s+\#\s?[A-Z0-9\-]+)?"
)

# Case-sensitive (no IGNORECASE): street names are capitalised.
_STREET = (
    rf"\b[0-9]{{1,6}}[A-Z]?\s+(?:{_DIRECTION}\s+)?"
    rf"(?:(?:{_NAME_WORD}\s+){{1,4}}{_STREET_SUFFIX}\b\.?|{_ROUTE}\b){_UNIT}"
)
# Highways and interstates, optionally with a mile marker ("I-80 near mile marker 212").
_HIGHWAY = (
    r"\b(?:I-|Interstate\s+|US\s+|U\.S\.\s+|Route\s+|Rte\.?\s+|Highway\s+|Hwy\.?\s+)"
    r"[0-9]{1,3}[A-Z]?\b(?:[^\n.;]{0,20}?\bmile\s+marker\s+[0-9]+)?"
)
_PO_BOX = r"\b(?i:P\.?\s?O\.?\s*Box|Post\s+Office\s+Box)\s+[0-9]+"
# Rural and highway-contract routes: "RR 2 Box 47", "Rural Route 3, Box 12", "HC 61 Box 9".
_RURAL_ROUTE = (
    r"\b(?:RR|R\.R\.|Rural\s+Route|HC|Star\s+Route)\s*#?\s*[0-9]{1,4},?\s+Box\s+[0-9]{1,5}[A-Z]?\b"
)


def street_address() -> EntityRecognizer:
    return PatternRecognizer(
        supported_entity="STREET_ADDRESS",
        name="StreetAddressRecognizer",
        patterns=[
            Pattern("street", _STREET, 0.75),
            Pattern("po box", _PO_BOX, 0.85),
            Pattern("rural route", _RURAL_ROUTE, 0.85),
            Pattern("highway", _HIGHWAY, 0.6),
        ],
        context=["address", "live", "lives", "reside", "street", "home", "mail"],
        global_regex_flags=re.DOTALL | re.MULTILINE,
    )


_ZIP = r"[0-9]{5}(?:-[0-9]{4})?(?![0-9\-])"


def zip_code() -> EntityRecognizer:
    return PatternRecognizer(
        supported_entity="ZIP_CODE",
        name="ZipCodeRecognizer",
        patterns=[
            Pattern(
                "zip after state",
                rf"(?<=\b(?:{_STATE_ABBR}|{_STATE_NAME})\.?,?\s{{1,2}})(?<![0-9]){_ZIP}",
                0.9,
            ),
            Pattern(
                "zip (keyed)",
                r"(?<=\b(?:zip|zip\s*code|zipcode|postal\s*code|postcode)\s*(?:is\s+)?[:#]?\s*)"
                rf"(?<![0-9]){_ZIP}",
                0.9,
            ),
            Pattern("zip+4", r"(?<![0-9\-])[0-9]{5}-[0-9]{4}(?![0-9\-])", 0.5),
            Pattern("zip (weak)", r"(?<![0-9\-.])[0-9]{5}(?![0-9\-.])", 0.05),
        ],
        context=["zip", "zipcode", "postal", "address", "mail"],
    )


# The capital is checked first: the street-suffix lookahead then runs at capitalised words
# only, not at every word start.
_CAP_WORD = rf"(?-i:(?=[A-Z]))(?!{_STREET_SUFFIX}\b)(?-i:[A-Z][a-z]+)"
# Street-suffix words may end a place name ("Garden Grove", "Cedar Park"), not start one.
_PLACE = rf"{_CAP_WORD}(?:[\s\-](?-i:[A-Z][a-z]+)){{0,2}}"


# Capitalised words after "in/from/to/near" that are not places.
NOT_PLACES = NOT_NAMES | frozenset(
    words("""
    Dr Mr Mrs Ms Hospital Medical Center Clinic Hospice Rehab Rehabilitation General Memorial
    University Regional Community Saint St Mercy Urgent Primary ICU Room Bed Ward Floor
    """)
)
_INSTITUTION = re.compile(
    r"\s+(?:Hospital|Medical|Clinic|Center|Centre|Health|Healthcare|Hospice|Nursing|Rehab|"
    r"Rehabilitation|University|College|School|Pharmacy|Care|Associates|Group|Inc|LLC)\b"
)
# Not left to context words: spaCy lists "move" as a stop word, so the context enhancer never
# sees it.
_PLACE_VERB = (
    r"(?:lives?|living|resides?|residing|moved|moving|relocated|born|raised|grew\s+up|"
    r"transferred|transported|originally|works?|worked|working|visiting|traveled|travelled|"
    r"stays?|staying|home|hometown|native|commutes?|drove|driving|called|calling|phoned|"
    r"arrived|arriving|came|coming|returned|returning|flew|vacation(?:ing)?|trip|evacuated|"
    r"resident|residents|widow|widower|man|woman|male|female|gentleman|lady|veteran|retiree|"
    r"farmer|student|visitor|tourist)"
)
_PLACE_CONTEXT = words("""
    live lives living reside resides residing move moved relocate relocated born raise raised
    grow grew originally transfer transferred transport transported work works worked visit
    visiting travel traveled travelled stay stays staying home hometown town city native
    commute drive drove
""")


class CityCountyRecognizer(PatternRecognizer):
    """Cities and counties: "City, ST 12345", "City, State", "X County", and a capitalised
    name after a residence/travel verb and a preposition ("moved from Bakersfield to Modesto")."""

    def __init__(self) -> None:
        super().__init__(
            supported_entity="LOCATION",
            name="CityCountyRecognizer",
            patterns=[
                # "Columbus, OH 43215", "Fresno, California"
                Pattern(
                    "city, state",
                    rf"\b{_PLACE}(?=,?\s+{_STATE_ABBR}\.?,?\s+[0-9]{{5}}|,\s+{_STATE_NAME}\b)",
                    0.85,
                ),
                # "Paterson, NJ" without a ZIP, for abbreviations that are not also
                # credentials or words (MD, PA, ME, OR, IN, ...).
                Pattern(
                    "city, ST",
                    rf"\b{_PLACE}(?=,\s+{_UNAMBIGUOUS_STATE_ABBR}(?![\w\-]))",
                    0.85,
                ),
                # The city after a street address: "18 Quarry Hill Rd, Montpelier".
                Pattern(
                    "city after street",
                    rf"(?<=\b[0-9]{{1,6}}\s[^\n,;]{{2,40}}?\b{_STREET_SUFFIX}\.?,\s)"
                    rf"(?-i:{_PLACE})\b",
                    0.75,
                ),
                # "in Bangor, ME": abbreviations that are also credentials or words count
                # after a preposition of place.
                Pattern(
                    "in City, ST",
                    rf"(?<=\b(?:in|from|to|near|outside|of)\s){_PLACE}"
                    rf"(?=,\s+(?-i:{'|'.join(sorted(_AMBIGUOUS_ABBREVIATIONS))})(?![\w\-]))",
                    0.8,
                ),
                # "the pharmacy in Cicero": a place of care or living, then "in <place>"
                Pattern(
                    "facility in place",
                    r"(?<=\b(?-i:pharmacy|clinic|hospital|shelter|church|school|office|"
                    r"facility|practice|nursing\s+home|group\s+home|apartment|house|"
                    r"family|relatives|daughter|son|sister|brother)\s+in\s)"
                    rf"{_PLACE}\b",
                    0.7,
                ),
                # "the Pilsen neighborhood", "Wicker Park area"
                Pattern(
                    "neighborhood",
                    rf"\b{_PLACE}(?=\s+(?-i:neighbou?rhood|district|barrio|section\s+of))",
                    0.6,
                ),
                Pattern(
                    "county",
                    rf"\b{_CAP_WORD}(?:\s{_CAP_WORD})?\s(?-i:County|Parish|Borough)\b",
                    0.85,
                ),
                Pattern(
                    "place after residence/travel verb",
                    rf"(?<=\b{_PLACE_VERB}\b[^.;\n]{{0,25}}?\b(?:in|from|to|near|outside|of)\s)"
                    rf"{_PLACE}\b",
                    0.7,  # above spaCy's 0.65, which may call the place a PERSON
                ),
            ],
            context=_PLACE_CONTEXT,
        )

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list:
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        return [r for r in results if not _INSTITUTION.match(text, r.end)]

    def invalidate_result(self, pattern_text: str) -> bool:
        return any(w in NOT_PLACES for w in pattern_text.split())
