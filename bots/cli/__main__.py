from bots.cli.app import main

main()
