-- wrk script: POST the seed's usage body (data.json's content) to /api/usages.
wrk.method = "POST"
wrk.path = "/api/usages"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"patientId":"100","timestamp":"Tue Nov 01 2016 09:11:51 GMT-0500 (CDT)","medication":"Albuterol"}'
