"""Adversarial scripts: a corpus with exact expected outcomes, and a fuzzer."""
