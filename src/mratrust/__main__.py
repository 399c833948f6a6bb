from mratrust.cli import main

raise SystemExit(main())
