-- Databases and roles of the production-like stack (run once by the postgres image at first start).
-- Passwords are set afterwards from the secrets (docs/runbook.md, "First install").
CREATE ROLE delaktig LOGIN;
CREATE DATABASE delaktig OWNER delaktig;
CREATE ROLE keycloak LOGIN;
CREATE DATABASE keycloak OWNER keycloak;
-- TLS only, except from inside the container (pg_isready, backups run with docker exec)
ALTER SYSTEM SET ssl_min_protocol_version = 'TLSv1.2';
