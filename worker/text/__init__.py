"""Neutral text normalization shared by the fetchers and the cleaners (pure functions).

``decode`` (bytes to str), ``lines`` (one-line and paragraph text, entity decoding, derived
headlines), ``dates`` (the one date parser) with ``months`` (the one month-name table and the
zone names), ``lang`` (language codes), ``bylines`` (the byline format) and ``datelines`` (the
place an article opens with). Nothing here imports a fetcher or a cleaner: both import these
modules.
"""
