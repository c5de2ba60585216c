wid-policy-signature-v1
algorithm: ed25519
key-id: 4117cfbc213be278
signature: 5Ll9Wz7Kf1+87xPsrHg0NM9M4raqddzn/qNJEawjiw1jsTP4qoKidl7NwV/U5bQA/XYkP81DHXxsOBXaCyegAg==
