#!/usr/bin/env python3
"""Rebuild src/wattprint/carbon/data/{grid_intensity,countries,cloud_regions}.csv from open data.

    python scripts/build_carbon_tables.py --raw build/carbon-raw [--download]

See src/wattprint/carbon/data/README.md for the sources, their licences and how to refresh them.
"""

import sys

from wattprint.carbon.build import main

if __name__ == "__main__":
    sys.exit(main())
