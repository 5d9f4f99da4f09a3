"""The write side without Faust: validating, pseudonymising and folding input events."""
