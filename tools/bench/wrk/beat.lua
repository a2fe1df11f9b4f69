-- wrk: POST /beat with no body, as a 3.x admin sends it.
wrk.method = "POST"
