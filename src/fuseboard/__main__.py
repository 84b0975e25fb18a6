from fuseboard.cli import main

main()
