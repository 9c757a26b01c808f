"""Delaktig's common library: configuration, event envelope, schemas, relay, consumers,
crypto vault, authentication and the Flask application factory. Every service uses these;
none of them knows about any particular service."""
