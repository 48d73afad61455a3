"""What every surface uses: store, ids, keys, errors, pub/sub, rate limits, HTTP guards."""
