package actors

// Midway is midway for the external tests (package actors_test), which
// use testkit: a record count 40–70 % through n, at random, seeded by
// TROUPE_SEED when it is set and logged either way.
var Midway = midway
