import { startMosquitto } from '../helpers/brokers.js';
import { channelContract, mqttRig } from './contract.js';

channelContract('MQTT over Mosquitto (MQTT 5)', mqttRig(() => startMosquitto()));
