"""Pure rules with no I/O (fee arithmetic, ticket state machine, ballot tally,
intent matching helpers). Nothing here imports Flask, the database or the network,
so each is unit-tested on its own."""
