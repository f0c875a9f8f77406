import sys

from level3_system.cli import main

sys.exit(main())
