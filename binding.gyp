{
  "targets": [
    {
      "target_name": "sockets",
      "sources": ["native/sockets.c"]
    }
  ]
}
