import sys

from assetpipe.cli import main

sys.exit(main())
