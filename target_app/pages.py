"""The documentation's three HTML pages, with the socket URL left to the variant."""

from __future__ import annotations

from string import Template

# A JavaScript expression for the socket origin: the docs hard-code it, the default
# variant derives it from the page's own location so the pages work on any host and port.
DOCS_SOCKET_ORIGIN = '"ws://localhost:8000"'
LOCATION_SOCKET_ORIGIN = '(location.protocol === "https:" ? "wss://" : "ws://") + location.host'

_LAYOUT = Template("""<!DOCTYPE html>
<html>
    <head>
        <title>$title</title>
    </head>
    <body>
        <h1>$title</h1>
$body
        <ul id='messages'>
        </ul>
        <p><a href="/">Echo</a> | <a href="/items">Item (token)</a> | <a href="/chat">Chat</a></p>
        <script>
            var socketOrigin = $socket_origin;
            function showMessage(text) {
                var messages = document.getElementById('messages')
                var message = document.createElement('li')
                var content = document.createTextNode(text)
                message.appendChild(content)
                messages.appendChild(message)
            }
$script
        </script>
    </body>
</html>
""")

_ECHO_BODY = """        <form action="" onsubmit="sendMessage(event)">
            <input type="text" id="messageText" autocomplete="off"/>
            <button>Send</button>
        </form>"""

_ECHO_SCRIPT = """            var ws = new WebSocket(socketOrigin + "/ws");
            ws.onmessage = function(event) { showMessage(event.data) };
            function sendMessage(event) {
                var input = document.getElementById("messageText")
                ws.send(input.value)
                input.value = ''
                event.preventDefault()
            }"""

_ITEMS_BODY = """        <form action="" onsubmit="sendMessage(event)">
            <label>Item ID: <input type="text" id="itemId" autocomplete="off" value="foo"/></label>
            <label>Token:
                <input type="text" id="token" autocomplete="off" value="some-key-token"/></label>
            <button onclick="connect(event)">Connect</button>
            <hr>
            <label>Message: <input type="text" id="messageText" autocomplete="off"/></label>
            <button>Send</button>
        </form>"""

_ITEMS_SCRIPT = """            var ws = null;
            function connect(event) {
                var itemId = document.getElementById("itemId")
                var token = document.getElementById("token")
                ws = new WebSocket(socketOrigin + "/items/" + $encode(itemId.value)
                                   + "/ws?token=" + $encode(token.value));
                ws.onmessage = function(event) { showMessage(event.data) };
                event.preventDefault()
            }
            function sendMessage(event) {
                var input = document.getElementById("messageText")
                ws.send(input.value)
                input.value = ''
                event.preventDefault()
            }"""

_CHAT_BODY = """        <h2>Your ID: <span id="ws-id"></span></h2>
        <form action="" onsubmit="sendMessage(event)">
            <input type="text" id="messageText" autocomplete="off"/>
            <button>Send</button>
        </form>"""

_CHAT_SCRIPT = """            var client_id = Date.now()
            document.querySelector("#ws-id").textContent = client_id;
            var ws = new WebSocket(socketOrigin + "/ws/" + client_id);
            ws.onmessage = function(event) { showMessage(event.data) };
            function sendMessage(event) {
                var input = document.getElementById("messageText")
                ws.send(input.value)
                input.value = ''
                event.preventDefault()
            }"""


def _page(title: str, body: str, script: str, socket_origin: str) -> str:
    return _LAYOUT.substitute(title=title, body=body, script=script, socket_origin=socket_origin)


def echo_page(socket_origin: str) -> str:
    return _page("WebSocket Chat", _ECHO_BODY, _ECHO_SCRIPT, socket_origin)


def items_page(socket_origin: str, *, encode_components: bool) -> str:
    encode = "encodeURIComponent" if encode_components else ""
    script = Template(_ITEMS_SCRIPT).substitute(encode=encode)
    return _page("Chat", _ITEMS_BODY, script, socket_origin)


def chat_page(socket_origin: str) -> str:
    return _page("WebSocket Chat", _CHAT_BODY, _CHAT_SCRIPT, socket_origin)
