//! Helpers for the behaviour suite.
