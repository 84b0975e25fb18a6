"""Prometheus's text format read back, so that the metrics tests compare samples and not text.

``samples(text)`` maps each sample, by name and labels, to its value (parsed by prometheus_client's own
parser); ``kinds(text)`` maps each family to its type; ``value(found, name, **labels)`` picks one.
"""

from __future__ import annotations

Key = tuple[str, frozenset[tuple[str, str]]]


def samples(text: bytes | str) -> dict[Key, float]:
    """Every sample of the exposition: (sample name, its labels) -> value. A sample twice is an error."""
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[Key, float] = {}
    for family in text_string_to_metric_families(text.decode() if isinstance(text, bytes) else text):
        for sample in family.samples:
            key = (sample.name, frozenset(sample.labels.items()))
            assert key not in out, f"the sample {key} is exposed twice"
            out[key] = sample.value
    return out


def kinds(text: bytes | str) -> dict[str, str]:
    """Each family's name (a counter's without ``_total``) and type."""
    from prometheus_client.parser import text_string_to_metric_families

    return {f.name: f.type for f in text_string_to_metric_families(text.decode() if isinstance(text, bytes)
                                                                    else text)}


def value(found: dict[Key, float], name: str, **labels: str) -> float | None:
    """The sample ``name`` with exactly ``labels``, or None."""
    return found.get((name, frozenset(labels.items())))


def named(found: dict[Key, float], name: str) -> dict[frozenset[tuple[str, str]], float]:
    """Every sample called ``name``, by its labels."""
    return {labels: v for (sample, labels), v in found.items() if sample == name}
