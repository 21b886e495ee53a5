#!/bin/bash
# Default entrypoint of the endpoint base image; implementation images
# replace it with their own script that starts the same way.
/setup.sh

if [ "$ROLE" == "client" ]; then
    # The simulator opens this port only once the simulated link is up.
    /wait-for-it.sh sim:57832 -s -t 30
fi

exec /bin/bash
