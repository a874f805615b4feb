from exactrelu.cli import main

raise SystemExit(main())
