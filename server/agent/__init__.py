"""The agent: threads, the turn loop, the model client and the tools. No pygls imports here:
the server hands in a `Peer` to talk to the client and a buffer lookup for open documents."""
