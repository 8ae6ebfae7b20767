"""``python -m gaitforge`` → the command line."""
import sys

from gaitforge.cli import main

sys.exit(main())
