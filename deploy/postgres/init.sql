-- Run once by the postgres image on an empty volume (/docker-entrypoint-initdb.d), as POSTGRES_USER, who owns
-- them: the same three databases the real-server tests create (tests/servers.py DATABASES).
CREATE DATABASE mlflow;
CREATE DATABASE prefect;
CREATE DATABASE prediction_log;
