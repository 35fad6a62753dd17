"""The contract between footfall's parts: wire messages, the MQTT topic scheme, MQTT login
settings and the one MQTT client base. Both the edge and the aggregator import it; it imports
no other footfall package and nothing heavier than pydantic and paho-mqtt."""
