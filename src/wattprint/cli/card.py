"""``wattprint card MODEL_DIR``: the model's energy on its Hugging Face model card (README.md), locally."""

from __future__ import annotations

import argparse
import sys

from wattprint.cli.args import check_store, integer, store_file

HELP = "write the model's energy on its Hugging Face model card (README.md of a local folder; never pushed)"
DESCRIPTION = (
    "Add an Energy section to MODEL_DIR/README.md: the store's runs of the model per task and preset (Wh per "
    "1,000 inferences, spread, meter uncertainty, hardware, how each component was measured, where the figures "
    "came from), and a measurement. A training measurement (--training-type) is also written to the card's "
    "co2_eq_emissions metadata, which the Hub documents for training emissions; inference figures stay in the "
    "section. Other metadata and text are kept byte for byte; running again replaces the section. A folder "
    "without README.md gets a new card. Nothing is uploaded: push the folder with huggingface_hub yourself."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    from wattprint.report.card import TRAINING_TYPES

    p.add_argument("model_dir", metavar="MODEL_DIR", help="the local model folder (its README.md is the card)")
    p.add_argument("--store", metavar="PATH", default=None, type=store_file(),
                   help="SQLite store whose runs of the model to summarise")
    p.add_argument("--model", metavar="NAME", default=None,
                   help="the model's name in the store (default: the folder's name, or its path)")
    p.add_argument("--measurement", metavar="FILE", default=None,
                   help="a `wattprint measure --json FILE` result to add (with --training-type or --inferences)")
    p.add_argument("--training-type", choices=TRAINING_TYPES, default=None,
                   help="the measurement is this training: also written to co2_eq_emissions")
    p.add_argument("--inferences", type=integer(minimum=1, example="--inferences 1000"), metavar="N",
                   default=None, help="the measurement ran N inferences (figures per 1,000 in the section)")


def _measurement(path: str) -> dict:
    import json

    from wattprint.core.errors import ConfigError
    from wattprint.core.files import read_text

    text = read_text(path, "measurement file")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"measurement file {path} is not JSON (line {e.lineno}: {e.msg})",
                          "give the file `wattprint measure --json FILE -- CMD` wrote") from None


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from wattprint.core.errors import ConfigError
    from wattprint.report.card import check_folder, write_card

    check_folder(args.model_dir)
    if args.store is None and args.measurement is None:
        raise ConfigError("nothing to write on the card", "pass --store PATH (runs of the model) or --measurement FILE")
    m = _measurement(args.measurement) if args.measurement else None
    records = None
    if args.store is not None:
        from wattprint.store.sqlite import Store

        check_store(args.store, "run `wattprint bench --store PATH` first, or fix the path")
        with Store(args.store, readonly=True) as store:
            records = store.runs()
            store.print_notices()
    result = write_card(args.model_dir, records, model=args.model, measurement=m,
                        training_type=args.training_type, inferences=args.inferences,
                        store=Path(args.store).name if args.store else "the store")
    what = f"{result.runs} run(s)" if result.runs else "the measurement"
    meta = "; co2_eq_emissions set" if result.co2_eq_emissions else ""
    verb = "wrote a new card" if result.created else "updated"
    print(f"{verb} {result.path} (energy section from {what}{meta}); push it yourself, e.g. "
          f"huggingface_hub.upload_folder(repo_id=..., folder_path='{args.model_dir}')", file=sys.stderr)
    return 0
