"""The review desk: a server-rendered web app over the monitor database (`monitor serve`)."""
