"""The baseline: a hello-world Flask app, served exactly like ours."""
from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/")
def hello():
    return jsonify({"hello": "world"})


@app.post("/")
def hello_post():
    return jsonify({"hello": "world"})
