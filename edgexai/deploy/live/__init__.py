"""The live in-vehicle view (`edgexai run --serve`): overlay video and signs in force over HTTP."""
