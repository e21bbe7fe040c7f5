//! Integration tests of vigil-taxii: the router without a socket (`oneshot`), the redb store,
//! and a real socket with the Python `taxii2-client`.

mod api;
mod socket;
mod store;
mod support;
