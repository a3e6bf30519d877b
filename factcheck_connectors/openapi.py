"""The OpenAPI 3.1 description of what a city's CMS calls, served at /api/openapi.json."""

from __future__ import annotations

from typing import Any

_STATEMENT: dict[str, Any] = {
    "type": "object",
    "required": ["id", "claim"],
    "properties": {
        "id": {"type": "string", "description": "Your stable id; sending it again updates it."},
        "claim": {
            "type": "string",
            "description": "The rumour or question this statement answers.",
        },
        "verdict": {
            "type": "string",
            "default": "true",
            "enum": ["false", "misleading", "missing_context", "true", "unverified"],
        },
        "explanation": {"type": "string", "description": "What residents are told."},
        "url": {"type": "string", "format": "uri", "description": "The statement's page."},
        "publisher": {"type": "string"},
        "published_at": {"type": "string", "format": "date-time"},
        "language": {"type": "string", "description": "BCP-47 code; defaults to the source's."},
        "topic": {"type": "string"},
        "translations": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {"claim": {"type": "string"}, "explanation": {"type": "string"}},
            },
        },
    },
}


def openapi_document(public_url: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "rumourbot statements API",
            "version": "1",
            "description": "Push the city's statements into the tipline's knowledge base.",
        },
        "servers": [{"url": public_url}],
        "components": {
            "securitySchemes": {
                "sourceToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The token shown once when the push source was created.",
                }
            },
            "schemas": {
                "Statement": _STATEMENT,
                "PushResult": {
                    "type": "object",
                    "properties": {
                        k: {"type": "integer"}
                        for k in ("received", "changed", "unchanged", "duplicates", "retired")
                    },
                },
            },
        },
        "paths": {
            "/api/sources/{name}/statements": {
                "post": {
                    "summary": "Add, update or retire statements",
                    "security": [{"sourceToken": []}],
                    "parameters": [
                        {
                            "name": "name",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                            "description": "The push source's name.",
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "statements": {
                                            "type": "array",
                                            "maxItems": 1000,
                                            "items": {"$ref": "#/components/schemas/Statement"},
                                        },
                                        "retired": {
                                            "type": "array",
                                            "items": {"type": "string"},
                                            "description": "Ids of statements to withdraw.",
                                        },
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "Stored",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/PushResult"}
                                }
                            },
                        },
                        "400": {"description": "The body is not JSON"},
                        "401": {"description": "Unknown source or wrong token"},
                        "413": {"description": "The body is too large"},
                        "422": {
                            "description": "A statement is invalid; `error` says which and why"
                        },
                    },
                }
            }
        },
    }
