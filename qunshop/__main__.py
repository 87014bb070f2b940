import sys

from qunshop.assembly.cli import main

sys.exit(main())
