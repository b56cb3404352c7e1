from zhijing.cli import main

main()
