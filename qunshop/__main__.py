import sys

from qunshop.cli import main

sys.exit(main())
