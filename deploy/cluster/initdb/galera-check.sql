-- The user of the galera-check sidecars: no password and no privilege (SHOW GLOBAL STATUS needs
-- none), at most 2 connections, and only from the sidecars' fixed addresses on the cluster
-- network (docker-compose.yml). Created on the bootstrap node; the others get it with their
-- first state transfer.
CREATE USER IF NOT EXISTS 'galera_check'@'172.29.0.21' WITH MAX_USER_CONNECTIONS 2;
CREATE USER IF NOT EXISTS 'galera_check'@'172.29.0.22' WITH MAX_USER_CONNECTIONS 2;
CREATE USER IF NOT EXISTS 'galera_check'@'172.29.0.23' WITH MAX_USER_CONNECTIONS 2;
