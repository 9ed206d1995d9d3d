//! Test harness: a private MariaDB, agent-core and the shim on free loopback ports.
