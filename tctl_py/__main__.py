from tctl_py.cli.app import main

main()
