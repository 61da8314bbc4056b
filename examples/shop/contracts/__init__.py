"""The shop's message contracts (consumer-driven, Pact files): see README.md here."""
