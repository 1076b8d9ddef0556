import RearviewCommands

await RearviewCommand.main()
