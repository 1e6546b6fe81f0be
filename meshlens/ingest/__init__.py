"""Getting packets in: MQTT sources, files, POSTs, and the pipeline that stores them."""
