#!/bin/sh
# Serves app/www on port 8080 with busybox's httpd, logging each request to
# stderr (kubectl logs shows them).
echo "getting-started: serving /app/www on port 8080"
exec httpd -f -v -p 8080 -h /app/www
