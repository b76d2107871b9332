"""Helpers shared by the test suites: a live server and a headless browser."""
