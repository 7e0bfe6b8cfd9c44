#!/bin/sh
# Serves app/www on port 8080 with busybox's httpd.
exec httpd -f -p 8080 -h /app/www
