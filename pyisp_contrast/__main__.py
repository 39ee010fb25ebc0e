import sys

from pyisp_contrast.cli import main

sys.exit(main())
