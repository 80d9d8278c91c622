//! Integration-style tests of the sandbox over HTTP.
