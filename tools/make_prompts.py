"""Regenerate the default prompts in acd/prompts/ from text: python tools/make_prompts.py.

Needs espeak-ng (Debian: apt-get install espeak-ng; sox optional) for speech; without it
only tone fallbacks are written.  See acd/prompts/README.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from acd.media.make_prompts import main

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
