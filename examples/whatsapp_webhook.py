"""Post one signed, Meta-shaped WhatsApp webhook to a running bot (no WhatsApp account needed).

    RUMOURBOT_WHATSAPP_APP_SECRET=... RUMOURBOT_WHATSAPP_PHONE_NUMBER_ID=... \
        python examples/whatsapp_webhook.py "Forwarded: the water will be cut for two weeks"

The bot answers through the Graph API configured in its settings (point
RUMOURBOT_WHATSAPP_API_URL at a local fake to see the reply without sending anything).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import time
import uuid

import httpx

from domain.settings import get_settings


def main(text: str, sender: str = "15550001111") -> None:
    settings = get_settings()
    if settings.whatsapp_app_secret is None or not settings.whatsapp_phone_number_id:
        sys.exit("set RUMOURBOT_WHATSAPP_APP_SECRET and RUMOURBOT_WHATSAPP_PHONE_NUMBER_ID")
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "0",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550000000",
                                "phone_number_id": settings.whatsapp_phone_number_id,
                            },
                            "contacts": [{"profile": {"name": "Example"}, "wa_id": sender}],
                            "messages": [
                                {
                                    "from": sender,
                                    "id": f"wamid.example-{uuid.uuid4().hex}",
                                    "timestamp": str(int(time.time())),
                                    "type": "text",
                                    "text": {"body": text},
                                    "context": {"forwarded": True},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    body = json.dumps(payload, separators=(",", ":")).encode()
    secret = settings.whatsapp_app_secret.get_secret_value().encode()
    signature = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    response = httpx.post(
        f"{settings.public_url.rstrip('/')}/whatsapp/webhook",
        content=body,
        headers={"content-type": "application/json", "x-hub-signature-256": signature},
    )
    print(response.status_code, response.text)


if __name__ == "__main__":
    main(" ".join(sys.argv[1:]) or "Forwarded: the city will cut off all water for two weeks")
