"""`python -m audit.browse EVIDENCE.db`: Datasette on the evidence store (see the package)."""

import sys

from audit.browse import main

sys.exit(main())
