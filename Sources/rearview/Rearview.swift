import RearviewCommands

@main extension RearviewCommand {}
