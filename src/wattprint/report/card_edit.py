"""Editing a model card (README.md) in place: one metadata key and one marked section, nothing else.

huggingface_hub's ``ModelCard.save`` dumps the whole YAML block again, which reorders quotes, comments and
flow lists of metadata that is not ours. So the edit is textual: the top-level ``co2_eq_emissions`` entry of
the YAML block is replaced (or appended), the section between our two HTML comments is replaced (or appended),
and every other byte stays as it was. The result is then parsed with huggingface_hub's ``ModelCard`` and its
metadata compared with the original's: an edit that would change anything else is refused.
"""

from __future__ import annotations

import re
from typing import Any

from wattprint.core.errors import ConfigError

START = "<!-- wattprint:energy:start -->"
END = "<!-- wattprint:energy:end -->"
CO2_KEY = "co2_eq_emissions"


def hub() -> Any:
    """The huggingface_hub module, or a ConfigError naming the extra that installs it."""
    try:
        import huggingface_hub
    except ImportError:
        raise ConfigError("writing a model card needs huggingface_hub",
                          "pip install 'wattprint[hub]'") from None
    return huggingface_hub


def yaml_block(text: str) -> re.Match[str] | None:
    """The card's metadata block, found as huggingface_hub finds it."""
    hub()
    from huggingface_hub.repocard import REGEX_YAML_BLOCK

    return REGEX_YAML_BLOCK.search(text)


def line_break(text: str) -> str:
    """The file's own line ending ("\\r\\n" or "\\n"), so that what we add matches it."""
    return "\r\n" if "\r\n" in text else "\n"


def metadata_of(text: str, where: str) -> dict[str, Any]:
    """The card's metadata as huggingface_hub reads it (an empty mapping without a YAML block)."""
    import logging

    h = hub()
    quiet = logging.getLogger("huggingface_hub.repocard")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # "metadata block was not found": a card without one is handled here
    try:
        h.ModelCard(text, ignore_metadata_errors=True)
    except Exception as e:  # yaml errors and "should be a dict" come as several types
        raise ConfigError(f"{where} has a metadata block that is not a YAML mapping ({str(e).splitlines()[0]})",
                          "fix the block between the --- lines at the top of the card, then run again") from None
    finally:
        quiet.setLevel(level)
    match = yaml_block(text)
    if not match:
        return {}
    import yaml  # huggingface_hub's own dependency

    return yaml.safe_load(match.group(2)) or {}


def _key_span(lines: list[str], key: str) -> tuple[int, int] | None:
    """[start, end) of the top-level entry ``key`` in YAML ``lines``: its line and every line that belongs to
    it (indented, a block-sequence item at column 0, or blank lines before more of those)."""
    pattern = re.compile(rf"^(['\"]?){re.escape(key)}\1\s*:")
    start = next((i for i, line in enumerate(lines) if pattern.match(line)), None)
    if start is None:
        return None
    end = start + 1
    last = end
    while end < len(lines):
        line = lines[end]
        if line.strip() == "" or line.lstrip().startswith("#") and line[:1] in " \t":
            end += 1
            continue
        if line[:1] in " \t" or line.startswith("- ") or line.rstrip() == "-":
            end += 1
            last = end
            continue
        break
    return start, last


def set_metadata_key(text: str, key: str, block: str) -> str:
    """``text`` with the top-level metadata entry ``key`` replaced by ``block`` (YAML lines, no trailing line
    break), appended to the YAML block when absent, or a new YAML block when the card has none."""
    nl = line_break(text)
    block = nl.join(block.splitlines())
    match = yaml_block(text)
    if not match:
        return f"---{nl}{block}{nl}---{nl}{text}"
    body = match.group(2)
    lines = body.splitlines(keepends=True)
    span = _key_span([ln.rstrip("\r\n") for ln in lines], key)
    if span is None:
        if body.strip() == "":
            new_body = block
        else:
            new_body = body + (nl if not body.endswith(("\n", "\r")) else "") + block
    else:
        start, end = span
        tail = "".join(lines[end:])
        ending = nl if end < len(lines) or lines[end - 1].endswith(("\n", "\r")) else ""
        new_body = "".join(lines[:start]) + block + ending + tail
    return text[: match.start(2)] + new_body + text[match.end(2):]


def set_section(text: str, section: str) -> str:
    """``text`` with our marked section replaced by ``section`` (which carries the markers), or appended."""
    nl = line_break(text)
    section = nl.join(section.splitlines())
    begin, end = text.find(START), text.find(END)
    if begin != -1 and end > begin:
        return text[:begin] + section + text[end + len(END):]
    if begin != -1 or end != -1:
        raise ConfigError("the card has only one of wattprint's energy-section markers",
                          f"delete the lone {START if begin != -1 else END} line, then run again")
    if text == "":
        return section + nl
    sep = "" if text.endswith(nl + nl) else nl if text.endswith(nl) else nl + nl
    return text + sep + section + nl


def check_edit(before: str, after: str, key: str, value: Any, where: str) -> None:
    """Refuse an edit that changed any metadata but ``key`` (set to ``value`` when not None)."""
    old = metadata_of(before, where)
    expected = dict(old)
    if value is not None:
        expected[key] = value
    try:
        new = metadata_of(after, where)
    except ConfigError:
        new = None
    if new != expected:
        changed = "unreadable" if new is None else ", ".join(
            sorted(k for k in set(new) | set(expected) if new.get(k) != expected.get(k)))
        raise ConfigError(f"cannot add {key} to {where} without changing its other metadata ({changed})",
                          "write the YAML block as plain block YAML (one `key: value` per line), then run again")
